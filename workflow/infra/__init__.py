"""Infrastructure the services use but that is no service of its own.

- ``events.py``: the task event bus (in-process fan-out, PostgreSQL NOTIFY between processes).
- ``pdf.py`` and ``templates/documents/``: setting a document's frozen text as a PDF after
  GB/T 9704 (Typst, ``gbt9704.typ``), and the text templates per kind and district.
- ``signing.py``: the issuing agency's PAdES signature on each PDF (pyHanko), keys per agency.
- ``id_number.py`` (GB 11643 citizen ID numbers) and ``uscc.py`` (GB 32100 unified social
  credit codes): pure validators, both raising ``invalid.InvalidValue``.
- ``reference_json.py``: reading the rule files in ``workflow/reference_data/``.
"""
