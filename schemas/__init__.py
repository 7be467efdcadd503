"""The domain's Pydantic models, installed as ``llm_extract.schemas``.

The engine reaches these only through a task spec string such as
``"llm_extract.schemas.conflict:ConflictRecords"``; it never imports them.
"""
