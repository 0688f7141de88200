/**
 * The page a person sees at a route their role does not allow (reached by URL or an old link):
 * a heading, why, and a way back to the dashboard.
 *
 * @module
 */
import { Box, Button, Card, CardContent, Typography } from '@mui/material';
import { LinkBase, Title, useTranslate } from 'react-admin';

/** "Not allowed": shown instead of a screen the signed-in role may not use. */
export function NotAllowed() {
  const translate = useTranslate();
  return (
    <Card sx={{ mt: 2 }}>
      <Title title={translate('portal.not_allowed.title')} />
      <CardContent>
        <Typography component="p" variant="body1" role="alert">
          {translate('portal.not_allowed.text')}
        </Typography>
        <Box sx={{ mt: 2 }}>
          <Button component={LinkBase} to="/" variant="contained">
            {translate('portal.not_allowed.back')}
          </Button>
        </Box>
      </CardContent>
    </Card>
  );
}
