"""csv2ddb load job: stream one CSV object from S3 into one DynamoDB table, accounting for every row.

The script AWS Glue (Python shell) runs, and, unchanged, ``python3`` under the local emulator. All
of the load lives in the ``csv2ddb_core`` package: on Glue it comes from the wheel the bootstrap
uploads and names in ``--extra-py-files``; locally it is installed in the project venv. The
contract is documented in docs/glue-job.md.
"""

import sys

from csv2ddb_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
