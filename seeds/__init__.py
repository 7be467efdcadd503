"""The conflict task's gold fixtures (``*.txt`` + ``*.gold.json``), installed as ``llm_extract.fixtures_data``.

Package data, so ``llm-extract eval`` scores them from an installed package, without a clone;
origins and licences of the texts are in ``README.md`` beside them, which ships too.
"""
