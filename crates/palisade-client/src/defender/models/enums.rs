//! The open enums of the Defender models: a value this SDK does not know becomes
//! `Unrecognized(String)` and is sent back unchanged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Defines an open string enum: known variants plus `Unrecognized(String)`.
/// Each variant lists its canonical spelling and any accepted aliases.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this SDK does not know (kept verbatim).
            Unrecognized(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $canon, )+
                    $name::Unrecognized(s) => s.as_str(),
                }
            }

            /// Parses a wire value; exact spellings and aliases first, then
            /// case-insensitively; anything else is `Unrecognized`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $canon $(| $alias)* => return $name::$variant, )+
                    _ => {}
                }
                $(
                    if s.eq_ignore_ascii_case($canon) $(|| s.eq_ignore_ascii_case($alias))* {
                        return $name::$variant;
                    }
                )+
                $name::Unrecognized(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

open_enum! {
    /// Incident status (`InProgress` since the 2024 docs).
    IncidentStatus {
        /// Open.
        Active = "Active",
        /// Being worked on.
        InProgress = "InProgress",
        /// Closed.
        Resolved = "Resolved",
        /// Merged into another incident (`redirectIncidentId`).
        Redirected = "Redirected",
    }
}

open_enum! {
    /// Alert status.
    AlertStatus {
        /// New.
        New = "New",
        /// Active.
        Active = "Active",
        /// In progress.
        InProgress = "InProgress",
        /// Resolved.
        Resolved = "Resolved",
    }
}

open_enum! {
    /// Incident or alert severity.
    Severity {
        /// Not specified (note the capital S on the wire).
        UnSpecified = "UnSpecified" | "Unspecified",
        /// Informational.
        Informational = "Informational",
        /// Low.
        Low = "Low",
        /// Medium.
        Medium = "Medium",
        /// High.
        High = "High",
    }
}

open_enum! {
    /// Classification: the original set (`Unknown`, `FalsePositive`, `TruePositive`) and the
    /// 2024 set (adds `InformationalExpectedActivity`).
    Classification {
        /// Not classified.
        Unknown = "Unknown",
        /// False positive.
        FalsePositive = "FalsePositive",
        /// True positive.
        TruePositive = "TruePositive",
        /// Informational, expected activity (2024).
        InformationalExpectedActivity = "InformationalExpectedActivity",
    }
}

open_enum! {
    /// Determination: the original set and the 2024 per-classification set. Aliases used by
    /// the incident resource doc / Graph are accepted; the update-doc spelling is emitted.
    Determination {
        /// Not available (unclassified).
        NotAvailable = "NotAvailable",
        /// Advanced persistent threat (no longer settable since 2022).
        Apt = "Apt",
        /// Malware.
        Malware = "Malware",
        /// Security personnel (no longer settable since 2022).
        SecurityPersonnel = "SecurityPersonnel",
        /// Security testing.
        SecurityTesting = "SecurityTesting",
        /// Unwanted software.
        UnwantedSoftware = "UnwantedSoftware",
        /// Other (the literal value `Other`).
        Other = "Other",
        /// Multi-staged attack (TruePositive, 2024).
        MultiStagedAttack = "MultiStagedAttack",
        /// Malicious user activity (TruePositive, 2024).
        MaliciousUserActivity = "MaliciousUserActivity",
        /// Compromised account (TruePositive, 2024; Graph: `compromisedUser`).
        CompromisedAccount = "CompromisedAccount" | "CompromisedUser",
        /// Phishing (TruePositive, 2024).
        Phishing = "Phishing",
        /// Line-of-business application (InformationalExpectedActivity, 2024).
        LineOfBusinessApplication = "LineOfBusinessApplication",
        /// Confirmed activity (InformationalExpectedActivity, 2024; alias `ConfirmedUserActivity`).
        ConfirmedActivity = "ConfirmedActivity" | "ConfirmedUserActivity",
        /// Clean (FalsePositive, 2024).
        Clean = "Clean",
        /// Not enough data to validate (FalsePositive, 2024; alias `InsufficientData`).
        NoEnoughDataToValidate = "NoEnoughDataToValidate" | "InsufficientData",
        /// Not malicious (seen in third-party integrations).
        NotMalicious = "NotMalicious",
    }
}

open_enum! {
    /// Automated investigation state of an alert.
    InvestigationState {
        /// Unknown.
        Unknown = "Unknown",
        /// Terminated.
        Terminated = "Terminated",
        /// Successfully remediated.
        SuccessfullyRemediated = "SuccessfullyRemediated",
        /// Benign.
        Benign = "Benign",
        /// Failed.
        Failed = "Failed",
        /// Partially remediated.
        PartiallyRemediated = "PartiallyRemediated",
        /// Running.
        Running = "Running",
        /// Pending approval.
        PendingApproval = "PendingApproval",
        /// Pending resource.
        PendingResource = "PendingResource",
        /// Partially investigated.
        PartiallyInvestigated = "PartiallyInvestigated",
        /// Terminated by user.
        TerminatedByUser = "TerminatedByUser",
        /// Terminated by system.
        TerminatedBySystem = "TerminatedBySystem",
        /// Queued.
        Queued = "Queued",
        /// Inner failure.
        InnerFailure = "InnerFailure",
        /// Pre-existing alert.
        PreexistingAlert = "PreexistingAlert",
        /// Unsupported OS.
        UnsupportedOs = "UnsupportedOs",
        /// Unsupported alert type.
        UnsupportedAlertType = "UnsupportedAlertType",
        /// Suppressed alert.
        SuppressedAlert = "SuppressedAlert",
    }
}

open_enum! {
    /// Type of an alert entity.
    EntityType {
        /// User account.
        User = "User",
        /// IP address.
        Ip = "Ip",
        /// URL.
        Url = "Url",
        /// File.
        File = "File",
        /// Process.
        Process = "Process",
        /// Mailbox.
        MailBox = "MailBox",
        /// Mail message.
        MailMessage = "MailMessage",
        /// Mail cluster.
        MailCluster = "MailCluster",
        /// Registry key/value.
        Registry = "Registry",
        /// Security group.
        SecurityGroup = "SecurityGroup",
    }
}
