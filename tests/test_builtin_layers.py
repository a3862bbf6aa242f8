"""Every built-in layer through the gradcheck pytest plugin, one test per property, exactly as a user writes it.

The last test keeps this list complete: a built-in target added to a kind must be added here.
"""

from __future__ import annotations

import layers
from gradcheck.kinds import KINDS, get_kind
from gradcheck.testing import checklist

test_relu = checklist("relu", layers.ReLUModule)
test_leaky_relu = checklist("leaky_relu", layers.LeakyReLUModule)
test_elu = checklist("elu", layers.ELUModule)
test_softmax = checklist("softmax", layers.SoftMaxModule)
test_cross_entropy = checklist("cross_entropy", layers.CrossEntropyModule)
test_linear = checklist("linear", layers.LinearModule)
test_linear_function = checklist("linear_function", layers.LinearFunction)
test_batchnorm = checklist("batchnorm", layers.BatchNormModule)
test_batchnorm_function = checklist("batchnorm_function", layers.CustomBatchNormManualFunction)
test_batchnorm_manual_module = checklist("batchnorm_module", layers.CustomBatchNormManualModule)
test_batchnorm_autograd = checklist("batchnorm_module", layers.CustomBatchNormAutograd)
test_layernorm_function = checklist("layernorm_function", layers.CustomLayerNormManualFunction)
test_layernorm_manual_module = checklist("layernorm_module", layers.CustomLayerNormManualModule)
test_layernorm_autograd = checklist("layernorm_module", layers.CustomLayerNormAutograd)
test_conv2d = checklist("conv2d", layers.Conv2dModule)
test_conv2d_function = checklist("conv2d_function", layers.Conv2dFunction)
test_maxpool2d = checklist("maxpool2d", layers.MaxPool2dModule)
test_mlp = checklist("mlp", layers.MLP)


def test_every_builtin_target_is_checked_here() -> None:
    from gradcheck.loading import load_target

    get_kind("relu")  # loads the built-in declarations
    declared = {(k.name, load_target(t).obj) for k in KINDS.values() for t in k.builtin}
    here = {(f.gradcheck_kind.name, f.gradcheck_target) for f in globals().values() if hasattr(f, "gradcheck_kind")}
    assert here == declared
