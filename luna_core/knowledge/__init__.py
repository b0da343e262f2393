"""Documents and search: extract (Tika), chunk, embed, index (pgvector or Qdrant), hybrid search.

PostgreSQL is the record (documents, chunks, embeddings); the vector index is rebuilt from it.
"""
