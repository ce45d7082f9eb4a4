"""Client API formats besides OpenAI's: each translates its requests into the OpenAI chat format
the pipeline speaks, and the pipeline's answers (whole or streamed) back."""
