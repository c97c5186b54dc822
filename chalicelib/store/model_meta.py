"""The Meta every table's model shares: on-demand capacity, and the region and endpoint that tables.bind sets
for the stage (with the table names, from BILLRUN_TABLE_PREFIX)."""


class BaseMeta:
    region = "us-east-1"
    host = None
    billing_mode = "PAY_PER_REQUEST"
