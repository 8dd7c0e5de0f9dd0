"""One frame's way from detections to pixels: tracking and holds, motion, the subjects an
incident keeps, the policy stage (`compose`) and the obscuring kernels' wrappers (`obscure`)."""
