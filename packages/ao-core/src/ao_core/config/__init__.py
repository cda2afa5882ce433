"""Configuration: the schema of ``agent-orchestrator.yaml``, its discovery, loading and validation."""

from ao_core.config._loader import CONFIG_FILE_NAMES, dump_config, find_config_file, load_config
from ao_core.config._schema import (
    DEFAULT_REACTIONS,
    AgentSpecificConfig,
    DashboardConfig,
    DefaultsConfig,
    LifecycleConfig,
    LocalPluginEntry,
    OrchestratorConfig,
    PluginRef,
    PowerConfig,
    ProjectConfig,
    ReactionConfig,
    ReactionOverride,
    RoleAgentConfig,
    parse_duration_ms,
    session_prefix_for,
)

__all__ = [
    "CONFIG_FILE_NAMES",
    "DEFAULT_REACTIONS",
    "AgentSpecificConfig",
    "DashboardConfig",
    "DefaultsConfig",
    "LifecycleConfig",
    "LocalPluginEntry",
    "OrchestratorConfig",
    "PluginRef",
    "PowerConfig",
    "ProjectConfig",
    "ReactionConfig",
    "ReactionOverride",
    "RoleAgentConfig",
    "dump_config",
    "find_config_file",
    "load_config",
    "parse_duration_ms",
    "session_prefix_for",
]
