region = "ap-northeast-1"

snaplake = {
  source_id           = "shop-prod"
  schedule_expression = "cron(0 4 * * ? *)"
  schedule_time_zone  = "Asia/Tokyo"
  notification_emails = ["data-platform@example.com"]
  # Who besides snaplake may read exports/ and _snaplake/ (existing roles: on call, data engineers; the deployer need not).
  # raw_reader_arns  = ["arn:aws:iam::<account>:role/data-platform-admin"]
  raw_retention_days = 14
  # hash_salted (e-mails below) needs a salt: set TF_VAR_hash_salt to a long
  # random secret before apply; raise the version to write a new salt.
  hash_salt_version = 1
  # Each run's recorded cost uses us-east-1's list prices for what is not
  # named here; name this Region's from AWS's pricing pages, e.g.
  # prices = { region = "ap-northeast-1", athena_per_tb = <price>, rds_export_per_gb = <price> }
  # Each run posts its OpenLineage events to the Glue Data Catalog's lineage;
  # in a Region without Data Catalog lineage, turn it off (the events are
  # still written beside each run's manifest):
  # lineage_to_glue = false
  # Publish each day as one Apache Iceberg snapshot instead of repointing a Hive table:
  # table_format = "iceberg"
  lambda_packages = {
    "snapshot-export" = "../../../target/lambda/snapshot-export/bootstrap.zip"
    "export-callback" = "../../../target/lambda/export-callback/bootstrap.zip"
    "export-poller"   = "../../../target/lambda/export-poller/bootstrap.zip"
    "catalog-swap"    = "../../../target/lambda/catalog-swap/bootstrap.zip"
    "query-runner"    = "../../../target/lambda/query-runner/bootstrap.zip"
  }
  masking_policy = {
    tables = {
      "shop.customers" = {
        columns    = { email = "hash_salted", phone = "redact", full_name = "drop" }
        row_filter = "is_active = 1"
      }
    }
  }
}
