variable "name" {
  description = "The deployment's name: the snaplake module's `name`, which starts every resource's name."
  type        = string
  validation {
    condition     = length(var.name) >= 3 && length(var.name) <= 20 && can(regex("^[a-z]([a-z0-9]|-[a-z0-9])*$", var.name))
    error_message = "name: the snaplake module's name (3 to 20 lowercase letters, digits and single hyphens)."
  }
}

variable "account_id" {
  description = "The account snaplake is deployed into."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id: twelve digits."
  }
}

variable "region" {
  description = "The region snaplake is deployed into."
  type        = string
}

variable "partition" {
  description = "The AWS partition (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
}

variable "bucket_name" {
  description = "The snaplake module's bucket_name. Empty: <name>-lake-<account id>."
  type        = string
  default     = ""
}

variable "create_bucket" {
  description = "The snaplake module's create_bucket: whether the deployer creates (and may delete) the bucket."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "The snaplake module's kms_key_arn. Empty: the module creates the raw key, and the deployer administers the keys tagged snaplake = <name>."
  type        = string
  default     = ""
}

variable "curated_kms_key_arn" {
  description = "The snaplake module's curated_kms_key_arn. Empty: the module creates the curated key."
  type        = string
  default     = ""
}
