//! User (delegated) sign-in for public clients: the credentials, the protocol client and
//! the persistent sign-in cache. See [`credentials`] for which credential does what.

pub mod cache;
pub mod client;
pub mod credentials;

pub use cache::{Account, SignInCache};
pub use client::{DeviceCodeInfo, PublicClient, UserTokens};
pub use credentials::{
    open_system_browser, AuthorizationCodeCredential, DefaultCredential, DeviceCodeCredential,
    InteractiveBrowserCredential, SignedInUserCredential, UsernamePasswordCredential,
};
