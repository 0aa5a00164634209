variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "environment" {
  type    = string
  default = "staging"
}

variable "admin_cidr" {
  type    = string
  default = "10.0.0.0/8"
}

variable "bastion_count" {
  type    = number
  default = 1
}
