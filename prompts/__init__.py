"""Prompt templates (Jinja), installed as ``llm_extract.prompts`` package data."""
