//! `dynamic` values: JSON parsing, arrays, property bags, sets, and the parsers that build
//! them (`parse_url`, `parse_path`, `parse_command_line`, `parse_csv`).

super::family! {
    /// Dynamic (JSON) functions.
    pub enum DynamicFn {
        ParseJson = ["parse_json", "parsejson", "todynamic", "toobject"] (1, 1, Fixed(Dynamic)),
        BagPack = ["bag_pack", "pack", "pack_dictionary"] (0, VARIADIC, Fixed(Dynamic)),
        // `pack_all(true)`: `bag_pack` that leaves out null and empty values (internal).
        BagPackNonEmpty = ["__bag_pack_nonempty"] (0, VARIADIC, Fixed(Dynamic)),
        PackArray = ["pack_array"] (0, VARIADIC, Fixed(Dynamic)),
        ArrayLength = ["array_length", "arraylength"] (1, 1, Fixed(Long)),
        StrcatArray = ["strcat_array", "array_strcat"] (2, 2, Fixed(String)),
        ExtractJson = ["extract_json", "extractjson"] (2, 3, Fixed(String)),
        ArrayIndexOf = ["array_index_of"] (2, 2, Fixed(Long)),
        ArrayConcat = ["array_concat"] (1, VARIADIC, Fixed(Dynamic)),
        ArraySlice = ["array_slice"] (3, 3, Fixed(Dynamic)),
        ArraySortAsc = ["array_sort_asc"] (1, 2, Fixed(Dynamic)),
        ArraySortDesc = ["array_sort_desc"] (1, 2, Fixed(Dynamic)),
        ArraySum = ["array_sum"] (1, 1, Fixed(Real)),
        SetDifference = ["set_difference"] (2, VARIADIC, Fixed(Dynamic)),
        SetIntersect = ["set_intersect"] (2, VARIADIC, Fixed(Dynamic)),
        SetUnion = ["set_union"] (2, VARIADIC, Fixed(Dynamic)),
        SetHasElement = ["set_has_element"] (2, 2, Fixed(Bool)),
        BagKeys = ["bag_keys"] (1, 1, Fixed(Dynamic)),
        BagMerge = ["bag_merge"] (1, VARIADIC, Fixed(Dynamic)),
        BagRemoveKeys = ["bag_remove_keys"] (2, 2, Fixed(Dynamic)),
        BagHasKey = ["bag_has_key"] (2, 2, Fixed(Bool)),
        Zip = ["zip"] (2, VARIADIC, Fixed(Dynamic)),
        Range = ["range"] (2, 3, Fixed(Dynamic)),
        ParseUrl = ["parse_url", "parseurl"] (1, 1, Fixed(Dynamic)),
        ParseUrlQuery = ["parse_urlquery", "parseurlquery"] (1, 1, Fixed(Dynamic)),
        ParsePath = ["parse_path"] (1, 1, Fixed(Dynamic)),
        ParseCommandLine = ["parse_command_line"] (2, 2, Fixed(Dynamic)),
        ParseCsv = ["parse_csv"] (1, 1, Fixed(Dynamic)),
        // Arrays (implemented in the engine's `arrays` module).
        ArrayReverse = ["array_reverse"] (1, 1, Fixed(Dynamic)),
        ArrayIff = ["array_iff", "array_iif"] (3, 3, Fixed(Dynamic)),
        ArraySplit = ["array_split"] (2, 2, Fixed(Dynamic)),
        ArrayShiftLeft = ["array_shift_left"] (2, 3, Fixed(Dynamic)),
        ArrayShiftRight = ["array_shift_right"] (2, 3, Fixed(Dynamic)),
        ArrayRotateLeft = ["array_rotate_left"] (2, 2, Fixed(Dynamic)),
        ArrayRotateRight = ["array_rotate_right"] (2, 2, Fixed(Dynamic)),
        Repeat = ["repeat"] (2, 2, Fixed(Dynamic)),
        SetEquals = ["set_equals"] (2, 2, Fixed(Bool)),
        JaccardIndex = ["jaccard_index"] (2, 2, Fixed(Real)),
        BagZip = ["bag_zip"] (2, 2, Fixed(Dynamic)),
        DynamicToJson = ["dynamic_to_json"] (1, 1, Fixed(String)),
    }
}
