output "policy_json" {
  description = "The deployer's identity policy: attach it to the role or user that runs terraform for this deployment."
  value       = jsonencode(local.policy)
}
