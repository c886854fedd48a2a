"""The real KFP 1.8.22 compiler as the oracle for mlplane's KFP v1 layer (see kfp_oracle.py)."""
