"""The MetaTrader 5 specification: constants, result structs, record dtypes, error codes,
group masks and symbol specifications. Imports nothing else of the simulator."""
