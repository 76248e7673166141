"""Knowledge base -> rubric JSON (with citations), the therapist system prompt, and exports."""
