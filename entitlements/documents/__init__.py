"""The bridge from rows to rules-engine documents: the compiler, the document cache under version tokens, and the
resolution of SDK keys to the documents a check needs."""
