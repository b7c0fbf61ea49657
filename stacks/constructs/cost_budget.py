"""A monthly AWS Budgets budget for one environment, with e-mail alerts to the alarm address."""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from constructs import Construct

from stacks.config import EnvironmentConfig

# (threshold in % of the monthly amount, ACTUAL or FORECASTED spend)
ALERTS = ((80, "ACTUAL"), (100, "ACTUAL"), (100, "FORECASTED"))
# The stacks tag every resource environment=<name>; Budgets filters on it once it is activated as a
# cost allocation tag (Billing console, once per account: docs/runbook.md#budget).
COST_TAG = "user:environment"


class CostBudget(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        subscribers = (
            [budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=config.alarm_email)]
            if config.alarm_email
            else []
        )
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"ImagePipeline-{config.name}",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=config.monthly_budget_usd, unit="USD"),
                cost_filters={"TagKeyValue": [f"{COST_TAG}${config.name}"]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        comparison_operator="GREATER_THAN",
                        notification_type=kind,
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for percent, kind in ALERTS
            ]
            if subscribers
            else None,
        )
