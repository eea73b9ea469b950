//! A deployment of snaplake, found by the name given to the Terraform module.
//! The CLI asks nobody to copy settings around: the functions' environment is
//! the configuration, and the daily schedule holds the state machine and the
//! exact input a run gets.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use jiff::civil::Date;
use serde_json::Value;
use snaplake::clients::Clients;
use snaplake::config::Config;
use snaplake::contract::masking_policy::MaskingPolicy;
use snaplake::contract::snapshot_export::PolicyRef;
use snaplake::env::Env;
use snaplake::export_id::export_id;
use snaplake::handlers::parse;
use snaplake::logical_time::LogicalTime;
use snaplake::pinning;

use crate::args::Global;
use crate::failure::{self, Failure};
use crate::schedule::DailySchedule;

/// AWS as the operator reaches it: credentials, region, endpoint.
pub struct Aws {
    pub sdk: SdkConfig,
    pub clients: Clients,
    pub lambda: aws_sdk_lambda::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Aws {
    pub async fn connect(global: &Global) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &global.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &global.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &global.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        Aws {
            clients: Clients::from_sdk_config(&sdk, sdk.endpoint_url().is_some()),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            scheduler: aws_sdk_scheduler::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            sdk,
        }
    }

    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(no region)".into())
    }
}

/// What the CLI knows of one deployment.
pub struct Stack {
    pub name: String,
    pub aws: Aws,
    /// The functions' configuration, with the operator's clients.
    pub env: Env,
    pub state_machine_arn: String,
    /// The run input the schedule sends (`logical_time` still a placeholder).
    pub run_input: Value,
    pub schedule: DailySchedule,
    /// The role the functions run as (for doctor's key policy check).
    pub function_role: String,
}

impl Stack {
    pub async fn discover(name: &str, aws: Aws) -> Result<Stack, Failure> {
        let function = format!("{name}-catalog-swap");
        let found = aws
            .lambda
            .get_function_configuration()
            .function_name(&function)
            .send()
            .await;
        let config = match found {
            Ok(config) => config,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Err(Failure::not_found(
                    format!(
                        "snaplake stack {name:?} (no Lambda function {function} in {})",
                        aws.region()
                    ),
                    "pass --stack (or SNAPLAKE_STACK) with the `name` given to the Terraform module, \
                     and --region where it is deployed",
                ));
            }
            Err(e) => return Err(failure::aws("lambda", "GetFunctionConfiguration", &function, e)),
        };
        let variables = config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        let config_checked = Config::from_lookup(|v| variables.get(v).cloned())?;
        let function_role = config.role().unwrap_or_default().to_string();

        let schedule_name = format!("{name}-daily");
        let schedule = match aws.scheduler.get_schedule().name(&schedule_name).send().await {
            Ok(s) => s,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Err(Failure::not_found(
                    format!("the schedule {schedule_name} of stack {name:?}"),
                    "apply the Terraform module again: it creates the schedule with the function",
                ));
            }
            Err(e) => return Err(failure::aws("scheduler", "GetSchedule", &schedule_name, e)),
        };
        let target = schedule.target().ok_or_else(|| {
            Failure::not_found(
                format!("the target of schedule {schedule_name}"),
                "apply the Terraform module again",
            )
        })?;
        let run_input: Value = serde_json::from_str(target.input().unwrap_or_default()).map_err(|e| {
            Failure::Usage(format!(
                "the input of schedule {schedule_name} is not JSON ({e}); apply the Terraform module again"
            ))
        })?;
        let daily = DailySchedule::parse(
            schedule.schedule_expression().unwrap_or_default(),
            schedule.schedule_expression_timezone().unwrap_or("UTC"),
        )?;
        Ok(Stack {
            name: name.to_string(),
            env: Env {
                config: config_checked,
                clients: aws.clients.clone(),
                salt: None,
            },
            state_machine_arn: target.arn().to_string(),
            run_input,
            schedule: daily,
            function_role,
            aws,
        })
    }

    /// The source the deployment exports: the pinned one, else the schedule's.
    pub fn source_id(&self) -> &str {
        match &self.env.config.pinned_source_id {
            Some(pinned) => pinned,
            None => self.run_input["export"]["source_id"].as_str().unwrap_or_default(),
        }
    }

    /// The logical time of a day: the instant the schedule fires for it.
    pub fn logical_time(&self, day: Date) -> Result<LogicalTime, Failure> {
        self.schedule.logical_time(day, &self.env.config.time_zone)
    }

    pub fn day_of(&self, t: LogicalTime) -> Date {
        t.day(&self.env.config.time_zone)
    }

    /// The export id the pipeline derives for a day (see export_id.rs).
    pub fn export_id(&self, day: Date) -> Result<String, Failure> {
        Ok(export_id(&self.env.config.export_id_prefix, self.source_id(), day)?)
    }

    /// The masking policy the deployment's runs publish with: the pinned one.
    pub async fn policy(&self) -> Result<MaskingPolicy, Failure> {
        let input: PolicyRef = parse("schedule input `publish`", self.run_input["publish"].clone())?;
        Ok(pinning::policy(&self.env, &input).await?.as_ref().clone())
    }

    /// What the schedule would send for this logical time, with the export
    /// the deployment pins: snapshot-export refuses any other, so a schedule
    /// input changed by hand cannot send a run elsewhere.
    pub fn input(&self, t: LogicalTime) -> Value {
        let mut input = self.run_input.clone();
        input["logical_time"] = Value::String(t.to_string());
        pin_export(&self.env.config, &mut input["export"]);
        input
    }

    /// Execution ARNs follow from the state machine's ARN and the name.
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

/// Writes the values the deployment pins (the functions' `SNAPLAKE_*`) over a
/// run input's `export`, and leaves out its bucket: an export goes to
/// `SNAPLAKE_BUCKET` only.
fn pin_export(config: &Config, export: &mut Value) {
    let pins = [
        ("source_id", config.pinned_source_id.as_deref()),
        ("source_kind", config.pinned_source_kind.map(|kind| kind.as_str())),
        ("kms_key", config.pinned_export_kms_key.as_deref()),
        ("export_role_arn", config.pinned_export_role_arn.as_deref()),
    ];
    for (field, pinned) in pins {
        if let Some(pinned) = pinned {
            export[field] = Value::String(pinned.to_string());
        }
    }
    if let Some(export) = export.as_object_mut() {
        export.remove("bucket");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_input_carries_the_export_the_deployment_pins() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
        let config = Config::from_lookup(|name| match name {
            "SNAPLAKE_BUCKET" => Some("lake".into()),
            "SNAPLAKE_SOURCE_ID" => Some("shop-prod".into()),
            "SNAPLAKE_SOURCE_KIND" => Some("instance".into()),
            "SNAPLAKE_EXPORT_KMS_KEY" => Some(key.into()),
            _ => None,
        })
        .unwrap();
        // A schedule input changed by hand.
        let mut export = json!({"source_id": "payroll", "source_kind": "cluster", "kms_key": "alias/mallory",
            "export_role_arn": "arn:aws:iam::123456789012:role/mallory", "bucket": "mallory-lake", "tables": []});
        pin_export(&config, &mut export);
        assert_eq!(
            export,
            json!({"source_id": "shop-prod", "source_kind": "instance", "kms_key": key,
                "export_role_arn": "arn:aws:iam::123456789012:role/mallory", "tables": []}),
            "the role is not pinned here, so the schedule's stays"
        );
    }
}
