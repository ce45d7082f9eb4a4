"""Wire formats the simulator speaks, one module each (OpenAI chat completions for now)."""
