//! Text functions, including the base64 and URL encodings.

super::family! {
    /// String functions.
    pub enum StringFn {
        Strcat = ["strcat"] (1, VARIADIC, Fixed(String)),
        StrcatDelim = ["strcat_delim"] (2, VARIADIC, Fixed(String)),
        Strlen = ["strlen"] (1, 1, Fixed(Long)),
        Substring = ["substring"] (2, 3, Fixed(String)),
        Split = ["split"] (2, 3, Fixed(Dynamic)),
        ToLower = ["tolower"] (1, 1, Fixed(String)),
        ToUpper = ["toupper"] (1, 1, Fixed(String)),
        Trim = ["trim"] (2, 2, Fixed(String)),
        TrimStart = ["trim_start"] (2, 2, Fixed(String)),
        TrimEnd = ["trim_end"] (2, 2, Fixed(String)),
        Reverse = ["reverse"] (1, 1, Fixed(String)),
        ReplaceString = ["replace_string"] (3, 3, Fixed(String)),
        ReplaceRegex = ["replace_regex", "replace"] (3, 3, Fixed(String)),
        Strrep = ["strrep"] (2, 3, Fixed(String)),
        Translate = ["translate"] (3, 3, Fixed(String)),
        Extract = ["extract"] (3, 4, Fixed(String)),
        ExtractAll = ["extract_all", "extractall"] (2, 3, Fixed(Dynamic)),
        CountOf = ["countof"] (2, 3, Fixed(Long)),
        IndexOf = ["indexof"] (2, 5, Fixed(Long)),
        Strcmp = ["strcmp"] (2, 2, Fixed(Int)),
        MakeString = ["make_string"] (1, VARIADIC, Fixed(String)),
        Base64DecodeToString = ["base64_decode_tostring", "base64_decodestring"] (1, 1, Fixed(String)),
        Base64EncodeToString = ["base64_encode_tostring", "base64_encodestring"] (1, 1, Fixed(String)),
        Base64DecodeToArray = ["base64_decode_toarray"] (1, 1, Fixed(Dynamic)),
        UrlDecode = ["url_decode"] (1, 1, Fixed(String)),
        UrlEncode = ["url_encode", "url_encode_component"] (1, 1, Fixed(String)),
    }
}
