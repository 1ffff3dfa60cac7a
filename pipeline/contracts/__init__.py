from pipeline.contracts.model import (
    ContractError,
    HelperColumn,
    SourceContract,
    load_contract,
    load_contracts,
)

__all__ = ["ContractError", "HelperColumn", "SourceContract", "load_contract", "load_contracts"]
