"""The domain's tasks, installed as ``llm_extract.schemas``.

The engine reaches them only through a task spec string (``[task] name``);
it never imports them. ``TASK`` is the built-in task, run when the config
names none.
"""

from .conflict import TASK

__all__ = ["TASK"]
