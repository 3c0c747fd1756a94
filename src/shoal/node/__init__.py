"""A machine: cloud-config (parse, validate, apply), unit files, unit manager, node daemon."""
