"""The Gradio chat app over :func:`rag.ask_stream` (start it with ``rag ui``).

Importing this package switches off every phone-home before gradio is imported
anywhere: gradio's analytics and version check, the Hugging Face hub look-ups
of gradio_client, Chroma telemetry. The app must work with no internet.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
