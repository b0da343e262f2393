"""The knowledge stores: Tika, the embedder and the vector index."""

from pydantic import Field

from resources.platform import PlatformResource


class KnowledgeResource(PlatformResource):
    vector_backend: str | None = Field(None, description="pgvector | qdrant; unset: LUNA_VECTOR_BACKEND")
    vector_database_url: str | None = Field(None, description="pgvector owner URL; unset: the main database")
    knowledge_collection: str | None = Field(None, description="vector collection; unset: LUNA_KNOWLEDGE_COLLECTION")
    tika_url: str | None = Field(None, description="Apache Tika; unset: the embedded native Tika")
    ollama_url: str | None = Field(None, description="Ollama server of the embedder")
    ollama_embed_model: str | None = Field(None, description="Ollama embedding model")

    def knowledge(self):
        """Built once per configuration in this process; Dagster is the owner-side path, so the index
        may rebuild (blue/green) with owner rights."""
        from luna_core.knowledge.service import knowledge_for

        return knowledge_for(self.settings(), maintenance=True)
