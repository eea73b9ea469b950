# terraform test of the freshness alarms and the dashboard (monitoring.tf), against
# the same mocked provider as module.tftest.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  source_id = "shop-prod"
  # terraform test hands an ephemeral variable to apply only when it is set.
  hash_salt = ""
  lambda_packages = {
    "snapshot-export" = "../../envs/local/placeholder.zip"
    "export-callback" = "../../envs/local/placeholder.zip"
    "export-poller"   = "../../envs/local/placeholder.zip"
    "catalog-swap"    = "../../envs/local/placeholder.zip"
    "query-runner"    = "../../envs/local/placeholder.zip"
  }
}
run "the_freshness_alarms_fire_on_missing_data_to_the_topic" {
  command = apply

  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.no_successful_run, aws_cloudwatch_metric_alarm.run_deadline, aws_cloudwatch_metric_alarm.stale_table] :
      a.treat_missing_data == "breaching" && a.namespace == "Snaplake" && a.dimensions == tomap({ SourceId = "shop-prod" })
      && a.alarm_actions == toset([aws_sns_topic.failures.arn]) && a.ok_actions == toset([aws_sns_topic.failures.arn])
      && a.period == 3600 && a.datapoints_to_alarm == a.evaluation_periods
    && a.period * a.evaluation_periods <= 604800])
    error_message = "each alarm: missing data breaching (a run that never starts publishes nothing), the source's metric, the topic, M of M hourly periods within CloudWatch's 7 days"
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.no_successful_run.metric_name == "RunSucceeded"
      && aws_cloudwatch_metric_alarm.no_successful_run.statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.no_successful_run.comparison_operator == "LessThanThreshold"
      && aws_cloudwatch_metric_alarm.no_successful_run.threshold == 1
    && aws_cloudwatch_metric_alarm.no_successful_run.evaluation_periods == 26)
    error_message = "no successful run (RunSucceeded below 1) in 26 hours by default"
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.run_deadline.metric_name == "RunDuration"
      && aws_cloudwatch_metric_alarm.run_deadline.statistic == "Minimum"
      && aws_cloudwatch_metric_alarm.run_deadline.comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.run_deadline.threshold == 6 * 3600
    && aws_cloudwatch_metric_alarm.run_deadline.evaluation_periods == 24 + 6)
    error_message = "a run not finished within 6 hours of its scheduled time: RunDuration over 6 h, over a day plus the deadline"
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.stale_table.metric_name == "OldestLiveVersionAge"
      && aws_cloudwatch_metric_alarm.stale_table.comparison_operator == "GreaterThanThreshold"
    && aws_cloudwatch_metric_alarm.stale_table.threshold == 3 * 86400)
    error_message = "a live version older than 3 days by default"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_sns_topic_policy.failures.policy).Statement :
      try(s.Principal == { Service = "cloudwatch.amazonaws.com" } && s.Action == "sns:Publish"
        && s.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:snaplake-*", false)])
    error_message = "the topic lets this account's snaplake alarms publish"
  }
  assert {
    condition = anytrue([for s in jsondecode(aws_kms_key.curated[0].policy).Statement :
      try(s.Principal == { Service = "cloudwatch.amazonaws.com" } && toset(s.Action) == toset(["kms:Decrypt", "kms:GenerateDataKey*"])
    && s.Condition.ArnLike["aws:SourceArn"] == "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:snaplake-*", false)])
    error_message = "the alarms may use the topic's key (CloudWatch cannot publish to an encrypted topic otherwise)"
  }
}

run "the_alarm_windows_and_thresholds_follow_the_variables" {
  command = apply
  variables {
    no_success_alarm_hours = 48
    run_deadline_hours     = 10
    stale_table_days       = 7
  }
  assert {
    condition = (aws_cloudwatch_metric_alarm.no_successful_run.evaluation_periods == 48
      && aws_cloudwatch_metric_alarm.stale_table.evaluation_periods == 48
      && aws_cloudwatch_metric_alarm.run_deadline.evaluation_periods == 34
      && aws_cloudwatch_metric_alarm.run_deadline.threshold == 36000
    && aws_cloudwatch_metric_alarm.stale_table.threshold == 7 * 86400)
    error_message = "windows and thresholds come from the variables"
  }
}

run "an_alarm_window_beyond_seven_days_is_refused" {
  command = plan
  variables {
    no_success_alarm_hours = 169
    run_deadline_hours     = 145
  }
  expect_failures = [var.no_success_alarm_hours, var.run_deadline_hours]
}

run "the_dashboard_shows_the_alarms_and_every_metric" {
  command = apply
  assert {
    condition     = aws_cloudwatch_dashboard.snaplake.dashboard_name == "snaplake"
    error_message = "one dashboard, named after the deployment"
  }
  assert {
    condition = toset(flatten([for w in jsondecode(aws_cloudwatch_dashboard.snaplake.dashboard_body).widgets : try(w.properties.alarms, [])])) == toset([
      aws_cloudwatch_metric_alarm.no_successful_run.arn, aws_cloudwatch_metric_alarm.run_deadline.arn, aws_cloudwatch_metric_alarm.stale_table.arn,
    ])
    error_message = "the dashboard shows the three alarms"
  }
  assert {
    condition = alltrue([for m in ["RunSucceeded", "TablesPublished", "TablesHeld", "TablesFailed", "TablesSkipped", "ExportDuration", "PublishDelay", "RunDuration", "OldestLiveVersionAge", "BytesScanned", "Rows"] :
    strcontains(aws_cloudwatch_dashboard.snaplake.dashboard_body, "\"${m}\"") || strcontains(aws_cloudwatch_dashboard.snaplake.dashboard_body, "MetricName=\\\"${m}\\\"")])
    error_message = "the dashboard graphs every metric the functions publish"
  }
  assert {
    condition = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.snaplake.dashboard_body).widgets :
    w.properties.region == "ap-northeast-1" if w.type == "metric"])
    error_message = "the graphs read the deployment's region"
  }
}
