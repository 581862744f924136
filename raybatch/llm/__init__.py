"""OpenAI-compatible endpoints: chat for metadata, transcription for captions; cost, cache, budget."""
