// The kernel's weight at squared distance d2, as KernelCoeffs::weight:
// one expression for every stage that sums kernel weights (the dense
// stages, the grid's), so they give the same bits. The including stage
// prepends KERNEL (Kernel::shader_id) and has a uniform `p` with h2,
// inv_h2 and exp2_coeff (KernelCoeffs').
fn kernel_weight(d2: f32) -> f32 {
    switch KERNEL {
        case 0u: {
            return select(0.0, 1.0, d2 <= p.h2);
        }
        case 1u: {
            return select(0.0, 1.0 - sqrt(d2 * p.inv_h2), d2 <= p.h2);
        }
        case 2u: {
            return select(0.0, 1.0 - d2 * p.inv_h2, d2 <= p.h2);
        }
        default: {
            return exp2(p.exp2_coeff * d2);
        }
    }
}
