"""Wire formats the simulator speaks, one module each: OpenAI chat completions (also at Azure's
deployment URLs), Anthropic Messages, Google Gemini."""
