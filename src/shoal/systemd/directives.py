"""The directives systemd knows in [Unit], [Service] and [Install] (systemd.unit(5),
systemd.service(5), systemd.exec(5), systemd.kill(5), systemd.resource-control(5), as of the
systemd CoreOS shipped, v225-v231, plus later names users copy from newer documentation).

systemd ignores a directive it does not know and logs `Unknown lvalue 'X' in section 'Service'`
(the warning a typo such as `ExecStrat=` deserves); one it knows but shoal does not act on is a
different warning (shoal.systemd.service). [X-*] sections are free for other programs (fleet's
[X-Fleet]) and are not checked here.
"""

from __future__ import annotations

from typing import Final

_UNIT = """
Description Documentation Requires Requisite Wants BindsTo PartOf Conflicts Before After
OnFailure PropagatesReloadTo ReloadPropagatedFrom JoinsNamespaceOf RequiresMountsFor
OnFailureJobMode OnFailureIsolate IgnoreOnIsolate IgnoreOnSnapshot StopWhenUnneeded
RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies JobTimeoutSec
JobTimeoutAction JobTimeoutRebootArgument StartLimitInterval StartLimitIntervalSec
StartLimitBurst StartLimitAction RebootArgument SourcePath Upholds Wants OnSuccess
RequiresOverridable RequisiteOverridable BindTo CollectMode FailureAction SuccessAction
FailureActionExitStatus SuccessActionExitStatus JobRunningTimeoutSec
ConditionArchitecture ConditionVirtualization ConditionHost ConditionKernelCommandLine
ConditionKernelVersion ConditionSecurity ConditionCapability ConditionACPower
ConditionNeedsUpdate ConditionFirstBoot ConditionPathExists ConditionPathExistsGlob
ConditionPathIsDirectory ConditionPathIsSymbolicLink ConditionPathIsMountPoint
ConditionPathIsReadWrite ConditionDirectoryNotEmpty ConditionFileNotEmpty
ConditionFileIsExecutable ConditionUser ConditionGroup ConditionControlGroupController
ConditionMemory ConditionCPUs ConditionEnvironment ConditionNull
AssertArchitecture AssertVirtualization AssertHost AssertKernelCommandLine
AssertKernelVersion AssertSecurity AssertCapability AssertACPower AssertNeedsUpdate
AssertFirstBoot AssertPathExists AssertPathExistsGlob AssertPathIsDirectory
AssertPathIsSymbolicLink AssertPathIsMountPoint AssertPathIsReadWrite
AssertDirectoryNotEmpty AssertFileNotEmpty AssertFileIsExecutable AssertUser AssertGroup
"""

_SERVICE = """
Type RemainAfterExit GuessMainPID PIDFile BusName BusPolicy ExecStartPre ExecStart
ExecStartPost ExecCondition ExecReload ExecStop ExecStopPost RestartSec TimeoutStartSec
TimeoutStopSec TimeoutAbortSec TimeoutSec RuntimeMaxSec WatchdogSec Restart
SuccessExitStatus RestartPreventExitStatus RestartForceExitStatus PermissionsStartOnly
RootDirectoryStartOnly NonBlocking NotifyAccess Sockets FailureAction
FileDescriptorStoreMax USBFunctionDescriptors USBFunctionStrings StartLimitInterval
StartLimitBurst StartLimitAction RebootArgument OOMPolicy ExitType
WorkingDirectory RootDirectory RootImage MountAPIVFS User Group DynamicUser
SupplementaryGroups PAMName Nice OOMScoreAdjust IOSchedulingClass IOSchedulingPriority
CPUSchedulingPolicy CPUSchedulingPriority CPUSchedulingResetOnFork CPUAffinity UMask
Environment EnvironmentFile PassEnvironment UnsetEnvironment StandardInput StandardOutput
StandardError TTYPath TTYReset TTYVHangup TTYVTDisallocate SyslogIdentifier SyslogFacility
SyslogLevel SyslogLevelPrefix TimerSlackNSec LimitCPU LimitFSIZE LimitDATA LimitSTACK
LimitCORE LimitRSS LimitNOFILE LimitAS LimitNPROC LimitMEMLOCK LimitLOCKS LimitSIGPENDING
LimitMSGQUEUE LimitNICE LimitRTPRIO LimitRTTIME PrivateTmp PrivateDevices PrivateNetwork
PrivateUsers ProtectSystem ProtectHome ProtectKernelTunables ProtectKernelModules
ProtectControlGroups ProtectKernelLogs ProtectClock ProtectHostname ProtectProc ProcSubset
ReadWriteDirectories ReadOnlyDirectories InaccessibleDirectories ReadWritePaths
ReadOnlyPaths InaccessiblePaths TemporaryFileSystem BindPaths BindReadOnlyPaths
MountFlags CapabilityBoundingSet AmbientCapabilities SecureBits Capabilities
ReadOnlySystem NoNewPrivileges SystemCallFilter SystemCallErrorNumber
SystemCallArchitectures RestrictAddressFamilies RestrictNamespaces RestrictRealtime
RestrictSUIDSGID LockPersonality MemoryDenyWriteExecute RemoveIPC Personality
RuntimeDirectory RuntimeDirectoryMode RuntimeDirectoryPreserve StateDirectory
StateDirectoryMode CacheDirectory CacheDirectoryMode LogsDirectory LogsDirectoryMode
ConfigurationDirectory ConfigurationDirectoryMode SELinuxContext AppArmorProfile
SmackProcessLabel IgnoreSIGPIPE UtmpIdentifier UtmpMode KeyringMode LogLevelMax
LogExtraFields LogRateLimitIntervalSec LogRateLimitBurst LogNamespace
KillMode KillSignal RestartKillSignal SendSIGHUP SendSIGKILL FinalKillSignal WatchdogSignal
CPUAccounting CPUWeight StartupCPUWeight CPUShares StartupCPUShares CPUQuota
CPUQuotaPeriodSec AllowedCPUs AllowedMemoryNodes MemoryAccounting MemoryMin MemoryLow
MemoryHigh MemoryMax MemorySwapMax MemoryLimit TasksAccounting TasksMax IOAccounting
IOWeight StartupIOWeight IODeviceWeight IOReadBandwidthMax IOWriteBandwidthMax
IOReadIOPSMax IOWriteIOPSMax BlockIOAccounting BlockIOWeight StartupBlockIOWeight
BlockIODeviceWeight BlockIOReadBandwidth BlockIOWriteBandwidth IPAccounting
IPAddressAllow IPAddressDeny DeviceAllow DevicePolicy Slice Delegate DisableControllers
ManagedOOMSwap ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit
"""

_INSTALL = "Alias WantedBy RequiredBy Also DefaultInstance"

SYSTEMD_DIRECTIVES: Final[dict[str, frozenset[str]]] = {
    "Unit": frozenset(_UNIT.split()),
    "Service": frozenset(_SERVICE.split()),
    "Install": frozenset(_INSTALL.split()),
}


def unknown_lvalue(section: str, key: str) -> bool:
    """systemd would log `Unknown lvalue 'key' in section 'section'` and ignore the line."""
    known = SYSTEMD_DIRECTIVES.get(section)
    return known is not None and key not in known
