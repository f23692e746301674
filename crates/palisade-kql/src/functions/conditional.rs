//! Conditionals, null and emptiness tests, and type inspection.

super::family! {
    /// Conditional and predicate functions.
    pub enum ConditionalFn {
        Iff = ["iff", "iif"] (3, 3, Common { start: 1, step: 1 }),
        Case = ["case"] (3, VARIADIC, Common { start: 1, step: 2 }),
        Coalesce = ["coalesce"] (1, VARIADIC, Common { start: 0, step: 1 }),
        MaxOf = ["max_of"] (1, VARIADIC, Common { start: 0, step: 1 }),
        MinOf = ["min_of"] (1, VARIADIC, Common { start: 0, step: 1 }),
        IsEmpty = ["isempty"] (1, 1, Fixed(Bool)),
        IsNotEmpty = ["isnotempty", "notempty"] (1, 1, Fixed(Bool)),
        IsNull = ["isnull"] (1, 1, Fixed(Bool)),
        IsNotNull = ["isnotnull", "notnull"] (1, 1, Fixed(Bool)),
        Not = ["not"] (1, 1, Fixed(Bool)),
        GetType = ["gettype"] (1, 1, Fixed(String)),
        Around = ["around"] (3, 3, Fixed(Bool)),
    }
}
