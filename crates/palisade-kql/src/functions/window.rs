//! Functions over the row order of a serialized input.

super::family! {
    /// Window functions.
    pub enum WindowFn {
        RowNumber = ["row_number"] (0, 2, Fixed(Long)),
        Next = ["next"] (1, 3, Arg(0)),
        Prev = ["prev"] (1, 3, Arg(0)),
    }
}
