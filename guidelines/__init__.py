"""Source guidelines: registry, text extraction (PDF, Markdown, text, HTML) and passages."""
