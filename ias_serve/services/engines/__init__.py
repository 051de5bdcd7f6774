"""Engines behind one interface (see base.py): echo-model, remote OpenAI-compatible URLs,
and (in deployments/) Ray Serve handles to engine deployments."""
