"""Medical fraud (M02 医保欺诈风险): p_fraud per settlement, learnt from audit-confirmed cases."""

MODEL_NAME = "medical_fraud"
RULE_CODE = "M02_MEDICAL_FRAUD"
