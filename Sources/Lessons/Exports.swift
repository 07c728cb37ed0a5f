// The engine and the contracts, for the part hosts, the mutants and the tests.
@_exported import Contracts
@_exported import LabKit
