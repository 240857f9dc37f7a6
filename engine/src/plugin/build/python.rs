//! The python recipe of `engine plugin build` (being built).

use super::{BuildError, Recipe};

/// Builds the project into `recipe.output`.
pub(super) fn build(_recipe: &Recipe<'_>) -> Result<(), BuildError> {
    Err(BuildError::Project(
        "the python recipe is not built yet".into(),
    ))
}
