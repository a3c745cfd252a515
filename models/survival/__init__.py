"""Survival status for passive pension certification (无感认证): p_alive per person."""

MODEL_NAME = "survival_status"
