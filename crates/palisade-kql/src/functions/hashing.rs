//! Digests and hashes.

super::family! {
    /// Hash functions.
    pub enum HashFn {
        HashSha256 = ["hash_sha256"] (1, 1, Fixed(String)),
        HashSha1 = ["hash_sha1"] (1, 1, Fixed(String)),
        HashMd5 = ["hash_md5"] (1, 1, Fixed(String)),
        Hash = ["hash", "hash_xxhash64"] (1, 2, Fixed(Long)),
    }
}
