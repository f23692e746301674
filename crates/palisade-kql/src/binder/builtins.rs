//! Built-in advanced-hunting functions that Palisade's own data can answer, defined in KQL
//! and bound like user functions (a user `let` of the same name shadows them):
//!
//! - `AssignedIPAddresses(x, y)`: the IP addresses of device `x` (a `DeviceId` or
//!   `DeviceName`, case-insensitive) in each network adapter's latest `DeviceNetworkInfo`
//!   report at or before `y` (default: the latest report). Columns: the documented
//!   `Timestamp` (the report's time), `IPAddress`, `IPType` (the report's `AddressType`),
//!   `NetworkAdapterType` and `ConnectedNetworks`, then `DeviceId` and `DeviceName` (the
//!   docs' own example projects `DeviceName`). `NetworkAdapterType` and `ConnectedNetworks`
//!   keep `DeviceNetworkInfo`'s `string` type; the docs' table says `int`, which cannot hold
//!   the JSON it describes.
//! - `invoke DeviceFromIP([y])`: for each distinct `IP` of the input, the devices whose
//!   adapters had that address in their latest report at or before `y`. Columns `IP`,
//!   `DeviceId`.
//!
//! Both read only the caller's tenant and the 30-day window, like every scan.

/// The definitions, as `let` statements.
pub(super) const PRELUDE: &str = r#"
let AssignedIPAddresses = (x:string, y:datetime = datetime(null)) {
    DeviceNetworkInfo
    | where (DeviceId =~ x or DeviceName =~ x) and (isnull(y) or Timestamp <= y)
    | summarize arg_max(Timestamp, IPAddresses, NetworkAdapterType, ConnectedNetworks, DeviceName)
        by DeviceId, NetworkAdapterName
    | mv-expand Address = parse_json(IPAddresses)
    | project Timestamp, IPAddress = tostring(Address.IPAddress),
        IPType = tostring(Address.AddressType), NetworkAdapterType, ConnectedNetworks,
        DeviceId, DeviceName
    | where isnotempty(IPAddress)
};
let DeviceFromIP = (T:(IP:string), y:datetime = datetime(null)) {
    let Assigned = DeviceNetworkInfo
        | where isnull(y) or Timestamp <= y
        | summarize arg_max(Timestamp, IPAddresses) by DeviceId, NetworkAdapterName
        | mv-expand Address = parse_json(IPAddresses)
        | project IP = tostring(Address.IPAddress), DeviceId
        | where isnotempty(IP);
    T | distinct IP | join kind=inner (Assigned) on IP | distinct IP, DeviceId
};
"#;

/// The tables the prelude reads; without them (custom catalogs) it is not loaded.
pub(super) const PRELUDE_TABLES: &[&str] = &["DeviceNetworkInfo"];
