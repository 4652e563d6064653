"""Registry intake: from a hospital's own export to a file the teaching core can validate.

The teaching core (:mod:`helpers.schema`) validates a registry against the data dictionary; this
subpackage holds what an analyst bringing an export needs and a student reading notebooks 01-03
does not have to read:

- :mod:`helpers.intake.files`     reading CSV, Excel or Parquet as text cells; problems of the file
- :mod:`helpers.intake.problems`  ``RegistryError``, the problem frame, the message, suggested fixes
- :mod:`helpers.intake.mapping`   a registry mapping: local column names, codes, date formats, units
- :mod:`helpers.intake.registry`  the data manager's check, the fill-in template, the example export
  (``python -m helpers.intake.registry``)

``schema.load_registry(path, mapping=...)`` calls it; it imports the core, never the toolkit.
"""
