"""csv2ddb's load core: the contract, row logic, reader, writer and one load, shared by every engine.

Python 3.9 and the standard library plus boto3 (what Glue Python shell provides). Shipped to Glue
as a wheel (``--extra-py-files``); installed into the project venv for everything local.
"""

__version__ = "0.2.0"
