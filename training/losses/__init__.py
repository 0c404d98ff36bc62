"""The loss terms (Eq. 5-10, supervision, regularisers) and the objective that combines them."""
