"""The knowledge base: vocabulary, SHACL shapes, the mapping review as data, and its build."""
