# Freshness alarms and the dashboard, on the metrics the functions publish
# as Embedded Metric Format log lines (shared/src/metrics.rs: namespace
# Snaplake, dimension SourceId). Every alarm treats missing data as
# breaching: a run that never starts (schedule disabled, its role broken)
# publishes nothing, and that is what they catch.
#
# Each alarm is "M of M" over hourly periods: with missing data breaching,
# it is OK only while its window holds an hour whose value is good, so it
# reads "no good value in the last <window> hours". CloudWatch allows a
# window (period x evaluation periods) of at most 7 days for periods of an
# hour or more.

locals {
  metrics_namespace  = "Snaplake"
  metrics_dimensions = { SourceId = var.source_id }
  alarm_topic        = [aws_sns_topic.failures.arn]
  # The deadline alarm's window: a day (the schedule's interval) plus the
  # deadline. RunDuration is stamped at the run's logical (scheduled) time,
  # so yesterday's run leaves the window exactly at today's deadline.
  deadline_window_hours = 24 + var.run_deadline_hours
  alarm_arn_pattern     = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name}-*"
}

resource "aws_cloudwatch_metric_alarm" "no_successful_run" {
  alarm_name          = "${var.name}-no-successful-run"
  alarm_description   = "No run of ${var.source_id} succeeded in ${var.no_success_alarm_hours} hours: none ran (schedule disabled, its role broken) or all failed. `snaplake status --last 3` shows the runs; README, When an alarm fires."
  namespace           = local.metrics_namespace
  metric_name         = "RunSucceeded"
  dimensions          = local.metrics_dimensions
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = var.no_success_alarm_hours
  datapoints_to_alarm = var.no_success_alarm_hours
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "run_deadline" {
  alarm_name          = "${var.name}-run-past-deadline"
  alarm_description   = "The run of ${var.source_id} did not finish within ${var.run_deadline_hours} hours of its scheduled time (it is late, stuck, failed before its report, or never started). `snaplake status --last 1` shows the step it is in."
  namespace           = local.metrics_namespace
  metric_name         = "RunDuration"
  dimensions          = local.metrics_dimensions
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = local.deadline_window_hours
  datapoints_to_alarm = local.deadline_window_hours
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.run_deadline_hours * 3600
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "stale_table" {
  alarm_name          = "${var.name}-stale-table"
  alarm_description   = "A table of ${var.source_id} shows a version older than ${var.stale_table_days} days (it failed, was held or not exported for days), or no run reported in ${var.no_success_alarm_hours} hours. `snaplake status --last 7` shows each day's outcome per table."
  namespace           = local.metrics_namespace
  metric_name         = "OldestLiveVersionAge"
  dimensions          = local.metrics_dimensions
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = var.no_success_alarm_hours
  datapoints_to_alarm = var.no_success_alarm_hours
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.stale_table_days * 86400
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

locals {
  alarm_arns = [
    aws_cloudwatch_metric_alarm.no_successful_run.arn,
    aws_cloudwatch_metric_alarm.run_deadline.arn,
    aws_cloudwatch_metric_alarm.stale_table.arn,
  ]
  # A graph of Snaplake metrics of this source: [name, statistic, label].
  dashboard_metric = { for name in ["RunSucceeded", "TablesPublished", "TablesHeld", "TablesFailed", "TablesSkipped", "ExportDuration", "PublishDelay", "RunDuration", "OldestLiveVersionAge", "BytesScanned", "RunCostUSD"] :
  name => [local.metrics_namespace, name, "SourceId", var.source_id] }
  widget = { region = local.region, view = "timeSeries", period = 86400 }
}

resource "aws_cloudwatch_dashboard" "snaplake" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      { type = "alarm", x = 0, y = 0, width = 24, height = 3, properties = { title = "Freshness alarms", alarms = local.alarm_arns } },
      { type = "metric", x = 0, y = 3, width = 12, height = 6, properties = merge(local.widget, {
        title   = "Tables per day", stacked = true, stat = "Sum",
        metrics = [for m in ["TablesPublished", "TablesHeld", "TablesFailed", "TablesSkipped"] : local.dashboard_metric[m]]
      }) },
      { type = "metric", x = 12, y = 3, width = 12, height = 6, properties = merge(local.widget, {
        title = "Runs succeeded per day", stat = "Sum", metrics = [local.dashboard_metric["RunSucceeded"]]
      }) },
      { type = "metric", x = 0, y = 9, width = 12, height = 6, properties = merge(local.widget, {
        title   = "Export, export COMPLETE to published, run (seconds)", stat = "Maximum",
        metrics = [for m in ["ExportDuration", "PublishDelay", "RunDuration"] : local.dashboard_metric[m]]
      }) },
      { type = "metric", x = 12, y = 9, width = 12, height = 6, properties = merge(local.widget, {
        title       = "Oldest live version (seconds)", stat = "Maximum", metrics = [local.dashboard_metric["OldestLiveVersionAge"]],
        annotations = { horizontal = [{ label = "stale", value = var.stale_table_days * 86400 }] }
      }) },
      { type = "metric", x = 0, y = 15, width = 12, height = 6, properties = merge(local.widget, {
        title   = "Rows published per table", stat = "Maximum",
        metrics = [[{ id = "rows", expression = "SEARCH('{${local.metrics_namespace},SourceId,Table} MetricName=\"Rows\" SourceId=\"${var.source_id}\"', 'Maximum', 86400)" }]]
      }) },
      { type = "metric", x = 12, y = 15, width = 12, height = 6, properties = merge(local.widget, {
        title = "Bytes scanned by Athena per day", stat = "Sum", metrics = [local.dashboard_metric["BytesScanned"]]
      }) },
      { type = "metric", x = 0, y = 21, width = 24, height = 6, properties = merge(local.widget, {
        title = "Cost of the day's runs (US dollars at the module's prices), beside tables published and run duration", stat = "Sum",
        metrics = [
          concat(local.dashboard_metric["RunCostUSD"], [{ label = "cost (USD)" }]),
          concat(local.dashboard_metric["TablesPublished"], [{ label = "tables published", yAxis = "right" }]),
          concat(local.dashboard_metric["RunDuration"], [{ label = "run duration (s)", stat = "Maximum", yAxis = "right" }]),
        ]
      }) },
    ]
  })
}
