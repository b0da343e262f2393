"""Luna, the assistant: answers from the tenant's documents (through a ``Retriever``) and live data,
with a persona in versioned prompt files, chat memory per user, and a feedback loop."""

from luna_core.luna.retrieval import NoDocuments, Passage, Retriever
from luna_core.luna.service import Asked, AskOptions, SessionNotFound, ask

__all__ = ["AskOptions", "Asked", "NoDocuments", "Passage", "Retriever", "SessionNotFound", "ask"]
