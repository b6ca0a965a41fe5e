"""Default figures from the domain brief (DOMAIN.md sections 4-6). Every one is overridable."""

from __future__ import annotations

from types import MappingProxyType

#: Stage name -> ARR (USD) at which a company enters it (DOMAIN.md section 6).
DEFAULT_STAGES = MappingProxyType(
    {"pre_pmf": 0.0, "early_growth": 1_000_000.0, "scaling": 10_000_000.0, "mature": 50_000_000.0}
)

#: Built-in touch models (DOMAIN.md section 4): mid-points of the articles' ranges.
#: ``accounts_per_csm = 0`` means no CSM is assigned (tech touch): accounts are never
#: "uncovered". The uncovered-churn multipliers are simkit's assumptions, not the articles'.
DEFAULT_TOUCH_MODELS = MappingProxyType(
    {
        "high_touch": {
            "accounts_per_csm": 12,
            "csm_cost_per_year": 150_000,
            "tooling_cost_per_account_per_year": 500,
            "uncovered_churn_multiplier": 2.0,
        },
        "low_touch": {
            "accounts_per_csm": 50,
            "csm_cost_per_year": 120_000,
            "tooling_cost_per_account_per_year": 200,
            "uncovered_churn_multiplier": 1.5,
        },
        "scale": {
            "accounts_per_csm": 200,
            "csm_cost_per_year": 100_000,
            "tooling_cost_per_account_per_year": 100,
            "uncovered_churn_multiplier": 1.25,
        },
        "tech_touch": {
            "accounts_per_csm": 0,
            "csm_cost_per_year": 0,
            "tooling_cost_per_account_per_year": 100,
            "uncovered_churn_multiplier": 1.0,
        },
    }
)

#: Health thresholds per benchmark segment (DOMAIN.md section 5).
DEFAULT_THRESHOLDS = MappingProxyType(
    {
        "smb": MappingProxyType(
            {
                "ltv_cac_min": 5.0,
                "payback_months_max": 12.0,
                "annual_churn_max": 0.25,
                "cac_max": 500.0,
                "cs_cost_per_account_max": 200.0,
            }
        ),
        "mid_market": MappingProxyType(
            {
                "ltv_cac_min": 4.0,
                "payback_months_max": 18.0,
                "annual_churn_max": 0.15,
                "cac_max": 5_000.0,
            }
        ),
        "enterprise": MappingProxyType(
            {
                "ltv_cac_min": 3.0,
                "payback_months_max": 36.0,
                "annual_churn_max": 0.10,
                "cac_max": 100_000.0,
                "annual_expansion_min": 0.15,
            }
        ),
    }
)

MOTION_KINDS = ("self_serve", "sales_assisted", "field_sales")

DEFAULT_HORIZON_MONTHS = 36
DEFAULT_DRAWS = 10_000
DEFAULT_SEED = 1
DEFAULT_LTV_WINDOW_MONTHS = 60
